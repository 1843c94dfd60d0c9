"""biotwin: the open data foundation for bioprocess digital twins."""

__version__ = "0.1.0"
