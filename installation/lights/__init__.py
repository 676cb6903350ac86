"""Light: fixtures on DMX universes, rendered from the show's ``light.*`` parameters and sent as sACN or Art-Net."""
