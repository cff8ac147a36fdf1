import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { PROTOCOL_VERSION } from '@verdict/protocol';

@Module({})
class AppModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter());
  await app.listen(Number(process.env['PORT'] ?? 3000), '127.0.0.1');
  console.log(`coordinator up, protocol v${PROTOCOL_VERSION}`);
}

void bootstrap();
