"""Kafka: client configuration, topic admin, producer, consumer, and the local broker."""
