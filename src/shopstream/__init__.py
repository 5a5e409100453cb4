"""shopstream: tickets over HTTP into Apache Kafka, enriched by a worker, stored for analytics."""

__version__ = "0.1.0"
