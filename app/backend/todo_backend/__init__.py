"""The reference backend: tasks per user and an AI chat assistant that manages them."""
