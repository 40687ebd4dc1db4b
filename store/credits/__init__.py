"""Credit rules, the points ledger, check-in parsing, events and reports (履职积分)."""
