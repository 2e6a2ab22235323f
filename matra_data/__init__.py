"""What the program, the policy pack and the deploy command share, with no Pulumi in it:
the values the settings accept (``catalog``), the price catalogue (``prices``), the
guardrails the firewalls open and the pack allows (``baseline``), and Docker's image
reference grammar (``docker``). A leaf: it imports nothing of the project."""
