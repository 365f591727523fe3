-- Demo users and posts, so a fresh clone has something to show and someone to log in as:
-- alice@example.com / alice-password (admin) and bob@example.com / bob-password.
INSERT INTO users (name, email, role, password_hash) VALUES
    ('Alice', 'alice@example.com', 'admin',
     '$argon2id$v=19$m=4096,t=1,p=1$OV3u1OnKJleKeLdxrED7Xg$0oFS8xy6tnzvhvWFMmM0vcLZzFO3hW7QZqCGa6fOf0w'),
    ('Bob', 'bob@example.com', 'member',
     '$argon2id$v=19$m=4096,t=1,p=1$ZoD6eWxEW17ByhgCE/Szhg$dqsDVzvxotcNnQKAbOA+0oH9ebciiNR+xepVjiEFmCc');

INSERT INTO posts (author_id, title, body) VALUES
    ((SELECT id FROM users WHERE email = 'alice@example.com'), 'Hello, Beginnings',
     'This post lives in data/demo.db, a SQLite file the demo created on its first start.'),
    ((SELECT id FROM users WHERE email = 'bob@example.com'), 'Configuration first',
     'CORS, authentication, rate limits and security headers all come from config/app.yaml.');
