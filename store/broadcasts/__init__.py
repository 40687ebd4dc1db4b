"""Staff broadcasts: audience specs, the delivery state machine, the durable outbox, text splitting."""
