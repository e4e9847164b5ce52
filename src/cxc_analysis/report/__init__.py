"""Report runs: settings, the notebook runner, export, and the report's sections."""
