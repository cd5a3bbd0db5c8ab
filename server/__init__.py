"""devops-engineer-mcp: the MCP server. Importing this package stays cheap (no backends)."""

__version__ = "0.1.0"
