"""CognitionOS on Dagster: AI-agent work declared in YAML and run as Dagster jobs.

Importing the package has no side effects: nothing reads the environment, opens a
connection or calls a network until a function asks for it.
"""

__version__ = "0.1.0"
