"""Quality gates: named policies and the scorers that decide whether an output may flow on."""
