"""Reading a partner's tracker: workbooks, CSV decoding, header finding, the vocabulary."""
