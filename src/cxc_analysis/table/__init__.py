"""The canonical exchange table: clean, findings, the processed folder, the annotated tracker."""
