"""The programme's rules, checked for every exchange."""
