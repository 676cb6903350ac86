"""Care for the wearers: notices for the operator (welfare, sensors about to fail).

Nothing here is medical advice: the notices point a steward to a person, no more.
"""
