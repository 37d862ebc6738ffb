"""Who the operator is and what they may do: tokens, the permission table, the audit stream."""
