"""One module per actor; `teambot.runtime` wires them under the supervisor."""
