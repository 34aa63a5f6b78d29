"""sg2im: image generation from scene graphs."""
