"""Reading TensorBoard event files: discovery, TFRecord framing, event decoding (pure)."""
