# shopstream's API and worker: one small image, run as a user without privileges.
# Built by compose.yaml (`docker compose up`); not built on the machine that develops it.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY src ./src
RUN pip wheel --no-cache-dir --constraint constraints.txt --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 shopstream
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER shopstream
WORKDIR /home/shopstream
EXPOSE 8000
CMD ["shopstream", "api", "--host", "0.0.0.0", "--port", "8000"]
