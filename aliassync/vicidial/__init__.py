"""The VICIdial edge: the Non-Agent API client and writer, its answers, and the database state reader."""
