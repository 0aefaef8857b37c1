"""From bytes to text: decoding, main-text and metadata extraction, dates."""
