"""What the web and the worker both use, below the models: storage, locks, the network guard, facts and messages."""
