"""The MCP face of the server: tools, resources, transports and the command line."""
