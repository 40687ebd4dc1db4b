"""The staff console (后台): server-rendered pages over ``store`` and ``knowledge``; nothing of Telegram."""
