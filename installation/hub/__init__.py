"""A sensor hub: a show's sources read near the sensors and published as Lab Streaming Layer streams."""
