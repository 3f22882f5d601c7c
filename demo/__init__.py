"""`make demo`: two Fleet migrations on the embedded AWS, run the way Terraform runs them."""
