"""The ``shopstream`` command: one module per group of commands, registered on import.

Imported in the order ``--help`` lists them: running it first, then figures, rebuilding,
Kafka, dead letters, status.
"""

# isort: skip_file
from shopstream.cli import pipeline
from shopstream.cli import figures
from shopstream.cli import rebuild
from shopstream.cli import kafka
from shopstream.cli import deadletters
from shopstream.cli import status
from shopstream.cli.app import app, main

__all__ = ["app", "deadletters", "figures", "kafka", "main", "pipeline", "rebuild", "status"]
