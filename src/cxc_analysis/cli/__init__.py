"""The ``cxc-analysis`` command line and its batch runs."""
