"""Reference data: places, the organisation register, rule sets, targets."""
