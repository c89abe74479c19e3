"""The scoring engine: account facts in (`facts`), explained scores out (`rules`), without any I/O; one
module per score, `explain` words the stored parts, `order` ranks tiers for the book."""
