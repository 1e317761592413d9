"""The protocol rules honest nodes reproduce byte for byte: documents, builders, parsers."""
