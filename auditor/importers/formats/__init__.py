"""One module per vendor family; each declares its formats as data (column spec + normalising SQL)."""
