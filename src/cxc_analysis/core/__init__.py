"""The bottom layer: errors, paths, text folding and parsers, safe outputs, the canonical schema."""
