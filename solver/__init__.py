"""Panel assignment optimiser. Takes plain arrays and small dataclasses; knows nothing of files or the app."""
