"""Who the caller is: the ``me`` query the web interface uses to show only what the role allows."""
