"""careplans: the domain of co-produced care plans. Never imports the web framework."""
