"""The fund's books: a disbursement ledger across batches (issue 29)."""
