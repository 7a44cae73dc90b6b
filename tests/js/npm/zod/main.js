// zod as its docs show it (zod.dev, "Basic usage"): a schema, parse, safeParse with its
// issues, inferred defaults and transforms.
import * as z from 'zod';

const Player = z.object({
  username: z.string(),
  xp: z.number(),
});

console.log(JSON.stringify(Player.parse({ username: 'billie', xp: 100 })));

const result = Player.safeParse({ username: 42, xp: '100' });
console.log(result.success);
for (const issue of result.error.issues) {
  console.log(issue.code, issue.path.join('.'), issue.expected);
}

try {
  z.email().parse('not an email');
} catch (error) {
  console.log(error instanceof z.ZodError, error.issues[0].format);
}

const Settings = z.object({
  port: z.coerce.number().int().min(1).max(65535).default(8080),
  tags: z.array(z.string().trim().toLowerCase()).default([]),
});
console.log(JSON.stringify(Settings.parse({ tags: [' Web ', 'API'] })));
console.log(JSON.stringify(z.toJSONSchema(Player)));
