"""每日一题 and short quizzes: questions (reviewed before they go live) and members' answers."""
