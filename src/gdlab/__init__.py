"""gdlab: gradient descent, from the derivative of a typed formula to training a network."""
