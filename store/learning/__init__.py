"""Learning library (学习资料库): materials, pages, readings and their figures."""
