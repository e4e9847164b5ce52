"""The report's sections: one module a question the report answers."""
