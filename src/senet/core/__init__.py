"""The ground floor: files written atomically and read safely (``io``), the device and precision
(``runtime``) and torchrun's process group (``distributed``). Imports nothing of senet but its errors."""
