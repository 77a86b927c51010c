"""The shell: session state, command registry, dispatcher, scripts, batch runner and prompt."""
