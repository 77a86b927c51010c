"""Result objects that commands return and renderers turn into text."""
