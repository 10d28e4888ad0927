"""Pages the bot's HTTP listener serves to people (the organizers' dashboard)."""
