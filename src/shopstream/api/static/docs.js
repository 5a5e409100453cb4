// Swagger UI on /openapi.json, every asset from this origin (the page's CSP allows no other).
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  deepLinking: true,
  // No badge fetched from validator.swagger.io, and a key typed in "Authorize" is
  // forgotten with the page rather than kept in localStorage.
  validatorUrl: null,
  persistAuthorization: false,
});
