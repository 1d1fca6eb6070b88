"""The general questions asked among the samples: a module of its own so that a reader (the report) can
tell them apart without the data loader behind the rest of the package."""

SAMPLE_QUESTIONS = (
    "How do I make a cup of tea?",
    "What is a mammal?",
    "Who wrote the play Romeo and Juliet?",
    "What is 8 squared?",
    "How do I keep bread fresh?",
    "What is inflation?",
    "Which organ pumps blood through the body?",
    "What is the plural of mouse?",
)
"""General questions for samples, from the eval set, prose answers first: a how-to and a definition show a
model that forgets (it answers them in the task's format, or worse) more plainly than a one-word fact."""
