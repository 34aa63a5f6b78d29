"""Every setting of the pipeline, declared once: typed dataclasses per stage (see schema.py)."""
