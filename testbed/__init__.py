"""What the tests and the benchmark stand on: free ports, a throwaway PostgreSQL server,
and a pipeline (the API and workers as real processes on a broker), all on this machine.

Not part of the product; the product's own local Kafka is ``shopstream.localkafka``.
"""
